"""Identity codes: unified social credit codes (GB 32100-2015), administrative
division codes (GB/T 2260) and project codes (GB/T 40058-2021 layout).

Pure functions, no I/O: the API validates input with them, workflows may call them,
and the demo seed builds valid codes with the `make_*` helpers.
"""

from __future__ import annotations

# --- errors ------------------------------------------------------------------------


class InvalidCode(ValueError):
    """A code that is malformed or fails its check character.

    `code` is a stable machine code the API can put in a problem detail
    (e.g. "invalid_credit_code"); `detail` is an English sentence for a human.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


# --- administrative division codes (GB/T 2260) -------------------------------------

# The 34 province-level prefixes in use: 31 provinces, Taiwan (71), Hong Kong (81)
# and Macao (82). Numbers such as 16 or 40 have never been assigned.
PROVINCE_PREFIXES: frozenset[str] = frozenset(
    {
        *("11", "12", "13", "14", "15"),  # North
        *("21", "22", "23"),  # North-east
        *("31", "32", "33", "34", "35", "36", "37"),  # East
        *("41", "42", "43", "44", "45", "46"),  # Centre and south
        *("50", "51", "52", "53", "54"),  # South-west
        *("61", "62", "63", "64", "65"),  # North-west
        *("71", "81", "82"),  # Taiwan, Hong Kong, Macao
    }
)


def _is_ascii_digits(value: str, length: int) -> bool:
    # str.isdigit() accepts full-width and other Unicode digits; codes are ASCII only.
    return len(value) == length and all("0" <= ch <= "9" for ch in value)


def validate_region_code(value: str) -> str:
    """A 6-digit division code of a real province, prefecture or county; returns it stripped."""
    code = value.strip()
    if not _is_ascii_digits(code, 6):
        raise InvalidCode("invalid_region_code", f"region code must be 6 digits, got {code!r}")
    if code[:2] not in PROVINCE_PREFIXES:
        raise InvalidCode(
            "invalid_region_code",
            f"region code {code} starts with {code[:2]}, which is not a province code",
        )
    return code


# --- unified social credit codes (GB 32100-2015) -----------------------------------

# 0-9 and A-Z without I, O, Z, S, V (too easily confused with 1, 0, 2, 5, U);
# a character's value is its index here.
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# W_i = 3^(i-1) mod 31 for positions 1..17, as printed in the standard.
CREDIT_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
_CREDIT_CHARSET_TEXT = "0-9 and A-Z except I, O, Z, S, V"


def _credit_error(detail: str) -> InvalidCode:
    return InvalidCode("invalid_credit_code", detail)


def _check_credit_chars(chars: str) -> None:
    # Position numbers in messages are 1-based, as in the standard.
    for position, ch in enumerate(chars, start=1):
        if ch not in CREDIT_CHARSET:
            raise _credit_error(
                f"credit code character {position} is {ch!r}; allowed characters are {_CREDIT_CHARSET_TEXT}"
            )
    # Only the shape of the division part is checked, not its province: national-level
    # registrations carry 100000, which is no province.
    division = chars[2:8]
    if not _is_ascii_digits(division, 6):
        raise _credit_error(f"credit code characters 3-8 must be a 6-digit division code, got {division!r}")


def credit_code_check_char(first17: str) -> str:
    """The 18th character for the given first 17: 31 - (sum of value x weight mod 31), 31 -> 0."""
    if len(first17) != 17:
        raise _credit_error(f"a credit code body has 17 characters, got {len(first17)}")
    _check_credit_chars(first17)
    total = sum(CREDIT_CHARSET.index(ch) * w for ch, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def make_credit_code(first17: str) -> str:
    """A complete credit code: the 17 given characters (upper-cased) and their check character."""
    body = first17.strip().upper()
    return body + credit_code_check_char(body)


def validate_credit_code(value: str) -> str:
    """The credit code, stripped and upper-cased, if it is well formed and its check character matches."""
    code = value.strip().upper()
    if len(code) != 18:
        raise _credit_error(f"credit code must be 18 characters, got {len(code)}")
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise _credit_error(f"credit code check character is {code[17]!r}, expected {expected!r}")
    return code


# --- project codes (GB/T 40058-2021 layout, ISO/IEC 7064 MOD 11-2 check) -----------

# Shape only: YYYY-RRRRRR-DD-TT-NNNNN then the check character. ASCII classes rather
# than \d, which matches any Unicode digit in both Python and pydantic's regex engine.
# A lower-case x is let through so that validate_project_code can normalise it.
PROJECT_CODE_PATTERN = r"^[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{5}[0-9Xx]$"

PROJECT_TYPES: dict[str, str] = {"01": "approval 审批", "02": "verification 核准", "03": "filing 备案"}
_PROJECT_BODY_DIGITS = 19  # 4 + 6 + 2 + 2 + 5
_HYPHEN_POSITIONS = (4, 11, 14, 17)  # 0-based, in the 24-character code


def _project_error(detail: str) -> InvalidCode:
    return InvalidCode("invalid_project_code", detail)


def iso7064_mod11_2(digits: str) -> str:
    """ISO/IEC 7064 MOD 11-2 check character ('0'-'9' or 'X') of a string of ASCII digits.

    The same system as the last character of a resident identity card number (GB 11643).
    """
    # Horner form of sum(d_i * 2^(n-i+1)) mod 11: double after adding each digit.
    p = 0
    for ch in digits:
        p = (p + int(ch)) * 2 % 11
    # Chosen so that the whole string, check included with weight 1, sums to 1 mod 11.
    check = (12 - p) % 11
    return "X" if check == 10 else str(check)


def project_check_char(first19: str) -> str:
    """The check character of a project code body: MOD 11-2 over its 19 digits.

    Hyphens are ignored, so "2024-310115-01-03-00001" and "2024310115010300001" agree.
    """
    digits = first19.replace("-", "")
    if not _is_ascii_digits(digits, _PROJECT_BODY_DIGITS):
        raise _project_error(f"a project code body has 19 digits besides hyphens, got {first19!r}")
    return iso7064_mod11_2(digits)


def _check_project_fields(year: str, region: str, department: str, project_type: str, serial: str) -> None:
    if not _is_ascii_digits(year, 4) or not 2000 <= int(year) <= 2099:
        raise _project_error(f"project code year must be 2000..2099, got {year!r}")
    try:
        validate_region_code(region)
    except InvalidCode as exc:
        raise _project_error(f"{exc.detail} (in the project code)") from exc
    if not _is_ascii_digits(department, 2):
        raise _project_error(f"project code department must be 2 digits, got {department!r}")
    if project_type not in PROJECT_TYPES:
        raise _project_error(
            f"project code type must be 01 (approval), 02 (verification) or 03 (filing), got {project_type!r}"
        )
    if not _is_ascii_digits(serial, 5) or serial == "00000":
        raise _project_error(f"project code serial must be 00001..99999, got {serial!r}")


def make_project_code(year: int, region: str, department: str, project_type: str, serial: int) -> str:
    """The 24-character code "YYYY-RRRRRR-DD-TT-NNNNNC" for these fields; raises InvalidCode."""
    fields = (str(year), region.strip(), department, project_type, f"{serial:05d}")
    _check_project_fields(*fields)
    body = "-".join(fields)
    return body + project_check_char(body)


# What each place of a project code holds: a digit, a hyphen, and last a digit or X.
_CODE_SHAPE = "0000-000000-00-00-00000X"


def _holds(shape: str, char: str) -> bool:
    if shape == "-":
        return char == "-"
    return char in "0123456789" or (shape == "X" and char == "X")


def code_head(fragment: str) -> str | None:
    """The start of every project code holding `fragment` (case ignored), when a code can hold it at
    its start and nowhere else (the head of a code, as people type it); None otherwise."""
    wanted = fragment.upper()
    places = [
        start
        for start in range(len(_CODE_SHAPE) - len(wanted) + 1)
        if all(_holds(_CODE_SHAPE[start + i], char) for i, char in enumerate(wanted))
    ]
    return wanted if wanted and places == [0] else None


def validate_project_code(value: str) -> str:
    """The project code, stripped and upper-cased, if every field and the check character are right."""
    code = value.strip().upper()
    if len(code) != 24:
        raise _project_error(f"project code must be 24 characters (YYYY-RRRRRR-DD-TT-NNNNNC), got {len(code)}")
    for i in _HYPHEN_POSITIONS:
        if code[i] != "-":
            raise _project_error(f"project code character {i + 1} must be '-', got {code[i]!r}")
    # Slice by position rather than split("-"): a stray hyphen inside a field must
    # surface as that field's error, not as a wrong number of parts.
    _check_project_fields(code[0:4], code[5:11], code[12:14], code[15:17], code[18:23])
    expected = project_check_char(code[:23])
    if code[23] != expected:
        raise _project_error(f"project code check character is {code[23]!r}, expected {expected!r}")
    return code
