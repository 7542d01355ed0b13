"""`nnhw softmax-stability`: softmax overflow and underflow across precisions (the study is
described in softmax_stability.compute)."""
