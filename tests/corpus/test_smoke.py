def test_bach_corpus_fixture(bach_corpus):
    info = bach_corpus.info()
    assert info["items"]["symbolic"] == 24 and info["splits"]["eval"] >= 1
