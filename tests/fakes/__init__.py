"""Loopback fakes of the mail providers' HTTP APIs, strict about each vendor's contract."""
