"""Email address syntax: a strict fast path for plain ASCII addresses, email-validator for the rest.

Nearly every subscriber's address is plain ASCII (`reader@example.org`), and for those the
rules are short: a dot-atom local part, a domain of letter-digit-hyphen labels under an
alphabetic top-level domain, and RFC 5321's length limits. email-validator checks the same,
and much more (internationalised addresses, IDNA, quoting), at about 40 µs an address plus a
large import. So an address this module's pattern accepts is taken as it is (the domain
lower-cased, as email-validator does); anything else, including everything the pattern
rejects, goes to email-validator, which gives the verdict and words every error message. The
pattern is deliberately narrower than email-validator: a property test checks that whatever
it accepts, email-validator accepts too, with the same result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 5322 atext, as email-validator allows it in a dot-atom local part.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# A DNS label: 1 to 63 letters, digits and hyphens, neither first nor last a hyphen. A domain
# with "--" anywhere is refused after the match: that would be an IDNA (`xn--`) or reserved
# label, whose checks and normalised form are email-validator's business. (Checked apart, the
# pattern needs no lookaround at each character, which made it about twice as slow.)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(
    rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+(?P<top>[A-Za-z]{{2,63}}))",
    re.ASCII,
)
SPECIAL_USE_DOMAINS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
"""Top-level names email-validator refuses (RFC 6761 and friends); always left to it."""


@dataclass(frozen=True)
class CheckedAddress:
    address: str
    """The address to send to: the ASCII form where there is one."""
    problem: str | None = None
    """Why the address cannot be used (email-validator's words), or None."""


def plain_address(text: str) -> str | None:
    """`text` normalised when it is a plain ASCII address the fast path may accept, else None."""
    if len(text) > 254:
        return None
    match = _PLAIN.fullmatch(text)
    if match is None:
        return None
    local, domain, top = match.group("local", "domain", "top")
    # 254 characters in all leave the domain within its limit of 253.
    if len(local) > 64 or "--" in domain or top.lower() in SPECIAL_USE_DOMAINS:
        return None
    return f"{local}@{domain.lower()}"


def check_address(text: str) -> CheckedAddress:
    """Check one bare address (no display name), syntax only: no DNS, so runs work offline."""
    plain = plain_address(text)
    if plain is not None:
        return CheckedAddress(plain)
    from email_validator import EmailNotValidError, validate_email

    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        return CheckedAddress(text, str(error))
    # The ASCII form where there is one: email-validator turns an `xn--` domain into
    # Unicode, which would need SMTPUTF8 at every hop; a Unicode local part has none.
    return CheckedAddress(valid.ascii_email or valid.normalized)
