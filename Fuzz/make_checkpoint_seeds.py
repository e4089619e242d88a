# Regenerates the small torch.save seeds of Fuzz/Corpus/FuzzCheckpoint (run in that folder):
#   cd Fuzz/Corpus/FuzzCheckpoint && python3 ../../make_checkpoint_seeds.py
# Small torch.save seeds (< 64 KB, libFuzzer's -max_len) for FuzzCheckpoint.
import torch, collections
torch.manual_seed(0)
def save(obj, name):
    torch.save(obj, name)
sd = collections.OrderedDict()
sd["conv1.weight"] = torch.randn(2, 3, 3, 3)
sd["bn1.weight"] = torch.ones(2); sd["bn1.bias"] = torch.zeros(2)
sd["bn1.running_mean"] = torch.zeros(2); sd["bn1.running_var"] = torch.ones(2)
sd["bn1.num_batches_tracked"] = torch.tensor(3)
sd["fc.weight"] = torch.randn(3, 4); sd["fc.bias"] = torch.randn(3)
save(sd, "small_state_dict.pth")
base = torch.randn(4, 6)
save({"t": base.t(), "slice": base[1:, 2:5], "expanded_row": base[0]}, "small_noncontiguous.pth")
shared = torch.randn(10)
save({"a": shared[:4], "b": shared[4:].view(2, 3)}, "small_shared_storage.pth")
save({"model_state_dict": {"fc.weight": torch.randn(2, 2).half(), "fc.bias": torch.randn(2).bfloat16()},
      "epoch": 3, "labels": ["a", "b"], "lr": 0.1}, "small_nested_half.pth")
