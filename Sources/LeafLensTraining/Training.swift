// Datasets, synthetic leaves, optimisers and the training loop.
import LeafLensMath
