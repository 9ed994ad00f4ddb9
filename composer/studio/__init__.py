"""The studio: a local web page over the same library calls as the CLI.

``composer studio`` serves it (``composer.studio.server.serve``): list runs, generate variations,
audition, keep them in a session folder, mix kept stems, and an endless radio stream.
"""
