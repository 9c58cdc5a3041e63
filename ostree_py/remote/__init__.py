"""Remotes and transport: remote configuration, the fetcher, pull, pull-local, metalink, cookies, the repo finder and trivial-httpd."""
