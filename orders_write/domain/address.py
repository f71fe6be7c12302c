"""The structured shipping address, and how a free-form (schema v1) address maps onto it."""

from dataclasses import dataclass, fields
from typing import Any

from .errors import InvalidValue

MAX_ADDRESS_VALUE_LENGTH = 200
FIELD = "shipping_address"

# The officially assigned ISO 3166-1 alpha-2 codes (249).
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)


@dataclass(frozen=True)
class ShippingAddress:
    """Where an order goes. Empty strings are parts not given.

    New addresses are made by `create`, which requires line1, city and an ISO 3166-1
    alpha-2 country. An address upcast from a free-form (v1) one may lack any part:
    history is shown as it was given, never refused.
    """

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""

    @classmethod
    def create(cls, value: dict[str, Any]) -> "ShippingAddress":
        """Return a checked address from the structured shape, or raise InvalidValue."""
        unknown = sorted(set(value) - set(PARTS))
        if unknown:
            raise InvalidValue(FIELD, f"Unknown field(s): {', '.join(unknown)}.")
        parts = {name: _text(value.get(name), name) for name in PARTS}
        for name in REQUIRED:
            if not parts[name].strip():
                raise InvalidValue(f"{FIELD}.{name}", "This field is required.")
        if parts["country"] not in COUNTRIES:
            raise InvalidValue(f"{FIELD}.country", 'Must be an ISO 3166-1 alpha-2 code, e.g. "NO".')
        return cls(**parts)


PARTS = tuple(f.name for f in fields(ShippingAddress))
REQUIRED = ("line1", "city", "country")

# The free-form (v1) keys each structured part is filled from. Keys are compared
# lower-cased, with spaces and hyphens read as underscores. Treat this as frozen: stored
# v1 events are upcast through it on every read, so a change here changes how history
# reads (and the read models then need a rebuild to agree).
ALIASES = {
    "name": "name full_name recipient contact attention",
    "line1": "line1 line_1 street street_address address address1 address_1 address_line1 "
    "address_line_1",
    "line2": "line2 line_2 address2 address_2 address_line2 address_line_2 apartment apt "
    "suite unit flat floor",
    "city": "city town locality village",
    "postal_code": "postal_code postalcode postcode post_code zip zipcode zip_code",
    "country": "country country_code",
}
LEGACY_KEYS = {key: part for part, keys in ALIASES.items() for key in keys.split()}


def address_from_free_form(free: dict[str, str]) -> dict[str, str] | None:
    """Map a free-form (schema v1) address object onto the structured parts; None if empty.

    The mapping, used both by the OrderPlaced v1 -> v2 upcaster and by the API for the
    legacy request shape, so the two always agree:

    - a key is matched case-insensitively, spaces and hyphens read as underscores, with
      `LEGACY_KEYS` (e.g. street/address -> line1, apartment/suite -> line2,
      town -> city, zip/postcode -> postal_code); values are stripped of surrounding
      blanks, and empty values are dropped;
    - several keys for one part are joined with ", " in key name order (sorted: a
      stored JSON object keeps no key order on PostgreSQL, and both backends must agree);
    - the country becomes the upper-cased value if that is an ISO 3166-1 alpha-2 code
      ("us" -> "US"); otherwise the country is left empty and the text is kept in line2
      as "country: <text>";
    - every other key (e.g. state, note) is kept in line2 as "<key>: <value>", after the
      line2 parts, in key name order: nothing the customer wrote is lost;
    - an object with no non-empty value (including {}) is no address: None.
    """
    parts: dict[str, list[str]] = {name: [] for name in PARTS}
    extras: list[str] = []
    for key, raw in sorted(free.items()):
        text = str(raw).strip()
        if not text:
            continue
        part = LEGACY_KEYS.get(key.strip().lower().replace(" ", "_").replace("-", "_"))
        if part == "country":
            if text.upper() in COUNTRIES:
                parts["country"].append(text.upper())
            else:
                extras.append(f"country: {text}")
        elif part is None:
            extras.append(f"{key}: {text}")
        else:
            parts[part].append(text)
    parts["line2"].extend(extras)
    # Two country keys cannot both be right: keep the first, a country is one code.
    mapped = {
        name: ", ".join(found[:1] if name == "country" else found) for name, found in parts.items()
    }
    return mapped if any(mapped.values()) else None


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_ADDRESS_VALUE_LENGTH:
        raise InvalidValue(
            f"{FIELD}.{name}",
            f"Must be a string of at most {MAX_ADDRESS_VALUE_LENGTH} characters.",
        )
    return value
