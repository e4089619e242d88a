// Image decoding, preprocessing and rendering.
import LeafLensMath
