// Attribution methods (Integrated Gradients, Grad-CAM, Occlusion, Saliency, InputXGradient).
