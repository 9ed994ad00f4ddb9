"""Corpus manager: import MIDI, MusicXML, ABC and audio into a folder with a SQLite manifest.

``Corpus.create`` / ``Corpus.open`` give a handle whose readers (``sequences``, ``audio``)
serve the chunks of one split; ``composer.corpus.builtin.build`` makes corpora from data that
packages bundle. See docs/interfaces.md for the contract.
"""

from composer.corpus.corpus import Corpus, corpus_root, list_corpora
from composer.corpus.ingest import ImportSummary
from composer.errors import CorpusError

__all__ = ["Corpus", "CorpusError", "ImportSummary", "corpus_root", "list_corpora"]
