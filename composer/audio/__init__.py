"""Raw-audio branch: framing transforms, quantization, primers and output shared by the families
``lstm_vae/`` (LSTM+VAE over frames) and ``samplernn/``."""
