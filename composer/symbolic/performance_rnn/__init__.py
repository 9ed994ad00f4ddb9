"""Performance RNN (Simon & Oore, 2017): the model, its CPU-fast LSTM, its int8 step and its family."""
