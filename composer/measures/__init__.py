"""Pure measures of event sequences, notes and audio: n-grams, feature distributions, keys, copying,
spectral statistics and collapse checks. Below the model families (which score and listen to
themselves with them) and below ``composer.evaluate`` (which reports them); imports only the leaves."""
