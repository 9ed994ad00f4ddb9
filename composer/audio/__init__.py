"""Raw-audio branch: framing transforms, the LSTM+VAE over frames, and SampleRNN."""
