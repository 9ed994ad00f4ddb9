"""Imported first, and only, by the fork server that starts import workers (``ingest._context``).

A terminal sends Ctrl-C to every process of the command; the parent stops the workers itself, so
the fork server (and the workers it forks, which inherit this) ignores SIGINT, from before its
slow preload of note_seq on. The same preload would print pydub's ffmpeg warning.
"""

import signal

from composer.quiet import ignore_ffmpeg_warning

signal.signal(signal.SIGINT, signal.SIG_IGN)
ignore_ffmpeg_warning()
