"""Credit, region and project codes: check algorithms, normalisation and precise rejections."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from domain.codes import (
    CREDIT_CHARSET,
    CREDIT_WEIGHTS,
    PROJECT_CODE_PATTERN,
    InvalidCode,
    code_head,
    credit_code_check_char,
    iso7064_mod11_2,
    make_credit_code,
    make_project_code,
    project_check_char,
    validate_credit_code,
    validate_project_code,
    validate_region_code,
)

# Bodies in the real layout: authority + type, a division code, a 9-character subject id.
CREDIT_BODIES = [
    "91310115MA1K4ABC1",  # enterprise (9 1) registered in Pudong, Shanghai
    "11100000000013127",  # central government body (1 1): division part 100000 is national
    "91110105MA01XY7W1",  # enterprise, Chaoyang, Beijing
    "92440300MA5FQ7R8T",  # individual business (9 2), Shenzhen
    "12310000425012345",  # public institution (1 2), Shanghai
    "52440300MJL12345N",  # social organisation (5 2), Shenzhen
]
VALID_CREDIT_CODES = [make_credit_code(b) for b in CREDIT_BODIES]
VALID_PROJECT_CODES = [
    make_project_code(2024, "310115", "01", "03", 1),
    make_project_code(2025, "110105", "47", "01", 12345),
    make_project_code(2099, "440304", "99", "02", 99999),
    make_project_code(2000, "650102", "00", "03", 7),
]


def _expect_rejected(code: str, func: Callable[[str], str], value: str) -> InvalidCode:
    with pytest.raises(InvalidCode) as info:
        func(value)
    assert info.value.code == code
    return info.value


# --- InvalidCode -------------------------------------------------------------------


def test_invalid_code_is_a_value_error_with_machine_code_and_detail() -> None:
    err = InvalidCode("invalid_credit_code", "credit code must be 18 characters, got 3")
    assert isinstance(err, ValueError)
    assert err.code == "invalid_credit_code"
    assert err.detail == str(err) == "credit code must be 18 characters, got 3"


# --- credit codes ------------------------------------------------------------------


def test_weights_are_those_printed_in_the_standard() -> None:
    assert CREDIT_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(CREDIT_CHARSET) == 31
    assert not set("IOZSV") & set(CREDIT_CHARSET)


def test_worked_example_of_the_standard() -> None:
    # GB 32100-2015's own example: the weighted sum is 1640, 1640 mod 31 = 28, 31 - 28 = 3.
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert validate_credit_code("91350100M000100Y43") == "91350100M000100Y43"


def test_constructed_code_matches_a_hand_computed_sum() -> None:
    # 9 1 3 1 0 1 1 5 M=21 A=10 1 K=19 4 A=10 B=11 C=12 1, times the weights:
    # 9+3+27+27+0+26+16+85+420+290+25+247+32+240+110+360+28 = 1945 = 62*31 + 23;
    # 31 - 23 = 8.
    assert make_credit_code("91310115MA1K4ABC1") == "91310115MA1K4ABC18"


def test_remainder_zero_maps_to_check_zero() -> None:
    # 31 - 0 = 31 is not a character value; the standard maps it to 0.
    assert credit_code_check_char("0" * 17) == "0"


@pytest.mark.parametrize("code", VALID_CREDIT_CODES)
def test_valid_credit_codes_pass(code: str) -> None:
    assert validate_credit_code(code) == code


def test_lowercase_and_surrounding_spaces_are_normalised() -> None:
    assert validate_credit_code("  91350100m000100y43\n") == "91350100M000100Y43"
    assert make_credit_code("91310115ma1k4abc1") == "91310115MA1K4ABC18"


@pytest.mark.parametrize("code", VALID_CREDIT_CODES)
def test_every_single_character_corruption_is_detected(code: str) -> None:
    # Weights are non-zero mod 31 and 31 is prime, so any substitution changes the sum.
    for position in range(18):
        for ch in CREDIT_CHARSET + "IOZSV":
            if ch != code[position]:
                corrupted = code[:position] + ch + code[position + 1 :]
                _expect_rejected("invalid_credit_code", validate_credit_code, corrupted)


@pytest.mark.parametrize("value", ["", "9131011", "91350100M000100Y4", "91350100M000100Y433"])
def test_wrong_length_is_refused(value: str) -> None:
    err = _expect_rejected("invalid_credit_code", validate_credit_code, value)
    assert "18 characters" in err.detail


def test_letter_outside_the_charset_is_named_with_its_position() -> None:
    err = _expect_rejected("invalid_credit_code", validate_credit_code, "91350100M0001I0Y43")
    assert "character 14" in err.detail and "'I'" in err.detail


def test_punctuation_is_refused() -> None:
    _expect_rejected("invalid_credit_code", validate_credit_code, "9135-100M000100Y43")


def test_division_part_must_be_digits() -> None:
    err = _expect_rejected("invalid_credit_code", validate_credit_code, "9135A100M000100Y43")
    assert "3-8" in err.detail


def test_wrong_check_character_names_the_expected_one() -> None:
    err = _expect_rejected("invalid_credit_code", validate_credit_code, "91350100M000100Y4Z")
    assert "expected '3'" in err.detail


def test_check_char_needs_17_characters() -> None:
    _expect_rejected("invalid_credit_code", credit_code_check_char, "9135")


# --- region codes ------------------------------------------------------------------


@pytest.mark.parametrize("code", ["310115", "310000", "110105", "440304", "650102", "710000", "810000", "820000"])
def test_real_division_codes_pass(code: str) -> None:
    assert validate_region_code(f" {code} ") == code


@pytest.mark.parametrize(
    "value",
    ["000000", "160101", "400000", "990000", "31011", "3101150", "31011a", "３１０１１５", ""],
)
def test_bad_division_codes_are_refused(value: str) -> None:
    _expect_rejected("invalid_region_code", validate_region_code, value)


# --- project codes -----------------------------------------------------------------


def test_mod11_2_matches_the_identity_card_example() -> None:
    # GB 11643's example number 11010519491231002X uses the same ISO 7064 system.
    assert iso7064_mod11_2("11010519491231002") == "X"


def test_project_check_matches_a_hand_computed_sum() -> None:
    # Digits 2024310115010300001, weights 2^(20-i) mod 11 = 6 3 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
    # 12+0+14+36+30+5+0+4+2+5+0+3+0+27+0+0+0+0+2 = 140; 140 mod 11 = 8; (12 - 8) mod 11 = 4.
    weights = [pow(2, 20 - i, 11) for i in range(1, 20)]
    digits = [int(d) for d in "2024310115010300001"]
    assert sum(d * w for d, w in zip(digits, weights, strict=True)) == 140
    assert project_check_char("2024-310115-01-03-00001") == "4"
    assert project_check_char("2024310115010300001") == "4"


def test_check_value_ten_is_written_x() -> None:
    codes = [make_project_code(2024, "310115", "01", "03", n) for n in range(1, 40)]
    assert any(c.endswith("X") for c in codes)
    for code in codes:
        assert validate_project_code(code.lower()) == code


@pytest.mark.parametrize("code", VALID_PROJECT_CODES)
def test_project_code_round_trip(code: str) -> None:
    assert len(code) == 24
    assert validate_project_code(f" {code} ") == code
    year, region, dept, ptype, tail = code.split("-")
    assert make_project_code(int(year), region, dept, ptype, int(tail[:5])) == code


def test_project_code_layout() -> None:
    assert make_project_code(2024, "310115", "01", "03", 1) == "2024-310115-01-03-000014"


@pytest.mark.parametrize("code", VALID_PROJECT_CODES)
def test_every_single_character_corruption_of_a_project_code_is_detected(code: str) -> None:
    for position, original in enumerate(code):
        for ch in "0123456789X-":
            if ch != original:
                corrupted = code[:position] + ch + code[position + 1 :]
                _expect_rejected("invalid_project_code", validate_project_code, corrupted)


@pytest.mark.parametrize("code", VALID_PROJECT_CODES)
def test_adjacent_digit_transpositions_are_detected(code: str) -> None:
    # MOD 11-2 weights of neighbours differ by a factor of 2, so swapping two different digits
    # (the check character included) always changes the sum mod 11.
    for i in range(len(code) - 1):
        a, b = code[i], code[i + 1]
        if "-" not in (a, b) and a != b:
            _expect_rejected("invalid_project_code", validate_project_code, code[:i] + b + a + code[i + 2 :])


def test_wrong_project_check_character_names_the_expected_one() -> None:
    err = _expect_rejected("invalid_project_code", validate_project_code, "2024-310115-01-03-000019")
    assert "expected '4'" in err.detail


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2024-310115-01-03-00001", "24 characters"),
        ("2024-310115-01-03-0000144", "24 characters"),
        ("2024 310115-01-03-000014", "character 5 must be '-'"),
        ("2024-3101150-1-03-000014", "character 12 must be '-'"),
        ("1999-310115-01-03-000014", "year"),
        ("2100-310115-01-03-000014", "year"),
        ("20a4-310115-01-03-000014", "year"),
        ("2024-000000-01-03-000014", "region code"),
        ("2024-160115-01-03-000014", "not a province code"),
        ("2024-310115-0A-03-000014", "department"),
        ("2024-310115-01-04-000014", "type"),
        ("2024-310115-01-00-000014", "type"),
        ("2024-310115-01-03-000004", "serial"),
        ("2024-310115-01-03-0A0014", "serial"),
    ],
)
def test_bad_project_fields_are_named(value: str, words: str) -> None:
    err = _expect_rejected("invalid_project_code", validate_project_code, value)
    assert words in err.detail


@pytest.mark.parametrize(
    "args",
    [
        (1999, "310115", "01", "03", 1),
        (2024, "000000", "01", "03", 1),
        (2024, "310115", "1", "03", 1),
        (2024, "310115", "01", "05", 1),
        (2024, "310115", "01", "03", 0),
        (2024, "310115", "01", "03", 100000),
        (2024, "310115", "01", "03", -1),
    ],
)
def test_make_project_code_refuses_bad_fields(args: tuple[int, str, str, str, int]) -> None:
    with pytest.raises(InvalidCode) as info:
        make_project_code(*args)
    assert info.value.code == "invalid_project_code"


def test_project_check_char_needs_19_digits() -> None:
    _expect_rejected("invalid_project_code", project_check_char, "2024-310115-01-03-0001")


def test_pattern_matches_shape_only() -> None:
    assert re.fullmatch(PROJECT_CODE_PATTERN, "2024-310115-01-03-000014")
    assert re.fullmatch(PROJECT_CODE_PATTERN, "2024-310115-01-03-00001x")
    # Shape is right, check character is wrong: the pattern lets it through on purpose.
    assert re.fullmatch(PROJECT_CODE_PATTERN, "2024-310115-01-03-000019")
    for bad in ["2024-310115-01-03-00001", "2024310115010300001", "2024-310115-01-03-00001Y", "x"]:
        assert not re.search(PROJECT_CODE_PATTERN, bad)


def test_pattern_works_as_a_pydantic_constraint() -> None:
    # FastAPI path parameters use pydantic's regex engine, which must accept the pattern.
    adapter = TypeAdapter(Annotated[str, Field(pattern=PROJECT_CODE_PATTERN)])
    assert adapter.validate_python("2024-310115-01-03-000014")
    with pytest.raises(ValidationError):
        adapter.validate_python("2024-310115-01-03-00001")
    with pytest.raises(ValidationError):
        adapter.validate_python("２０２４-310115-01-03-000014")


@pytest.mark.parametrize(
    ("fragment", "head"),
    [
        ("2025-310115-02", "2025-310115-02"),
        ("2024-310115-03-01-00004x", "2024-310115-03-01-00004X"),
        ("2025", None),  # also a serial's digits
        ("2025-3", None),  # also the end of a region and a department's first digit
        ("001499", None),
        ("光伏", None),
        ("2025-310115%02", None),  # a LIKE wildcard: no place in a code
        ("", None),
    ],
)
def test_code_head_is_a_fragment_only_a_code_start_holds(fragment: str, head: str | None) -> None:
    assert code_head(fragment) == head


def test_every_code_holding_a_head_starts_with_it() -> None:
    codes = [
        make_project_code(year, region, department, kind, serial)
        for year in (2024, 2025)
        for region in ("310115", "312025", "320102")
        for department in ("01", "20", "25")
        for kind in ("01", "02", "03")
        for serial in (1, 2025, 20250, 31011)
    ]
    fragments = {code[start:end] for code in codes[::7] for start in range(24) for end in range(start + 1, 25)}
    heads = 0
    for fragment in fragments:
        head = code_head(fragment)
        if head is not None:
            heads += 1
            assert all(code.startswith(head) for code in codes if fragment in code), fragment
    assert heads > 0
