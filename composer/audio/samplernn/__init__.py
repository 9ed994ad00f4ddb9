"""SampleRNN (Mehri et al., 2017): the model and its family."""
