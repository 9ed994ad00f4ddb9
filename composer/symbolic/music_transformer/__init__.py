"""Music Transformer (Huang et al., 2018): relative attention, the model and its family."""
