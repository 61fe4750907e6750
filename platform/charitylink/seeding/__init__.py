"""Data for ``flask --app wsgi seed``: not product code.

``demo`` loads the fictional demo in seeds/demo (``make run``, the browser tests);
``generated`` bulk-inserts fictional orgs, funds, projects and needs for the
benchmarks (``seed --orgs/--funds/--projects/--needs N``, bench/); ``fictional``
makes the households and picks the counties both use; ``cli`` is the command.
"""
