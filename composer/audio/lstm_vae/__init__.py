"""LSTM+VAE over audio frames: the model, its LiteRT frame loop and its family."""
