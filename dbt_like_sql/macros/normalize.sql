-- Scalar rules shared by the models (DESIGN.md section 4). Each macro is one rule, so a
-- golden test can call it directly. Regexes are RE2: \p{Z} covers no-break spaces.

-- Trimmed, every run of whitespace (tabs, newlines, no-break spaces) one space.
CREATE OR REPLACE MACRO squish(v) AS
    trim(regexp_replace(v, '[\s\p{Z}]+', ' ', 'g'));

-- Values that mean "nothing here" are NULL, not errors. Takes squished text.
CREATE OR REPLACE MACRO blank_to_null(v) AS
    CASE WHEN lower(v) IN ('', 'n/a', 'na', 'n.a.', 'null', 'nil', 'none', '-', '--', '---',
                          '?', 'nan', '#n/a', 'not available', 'unknown')
         THEN NULL ELSE v END;

-- How free text is looked up in a seed: lowercase, dots dropped, other punctuation as one
-- space ("U.S." -> "us", "C-Suite" -> "c suite", "Sr. Engineer" -> "sr engineer").
CREATE OR REPLACE MACRO lookup_key(v) AS
    trim(regexp_replace(lower(replace(v, '.', '')), '[^\p{L}\p{N}]+', ' ', 'g'));

-- Lowercased, without a mailto: prefix or surrounding angle brackets.
CREATE OR REPLACE MACRO email_text(v) AS
    regexp_replace(lower(v), '^(?:mailto:)?<?([^<>]*?)>?$', '\1');

-- A sane address: dot-separated local atoms, @, a dotted host with a TLD of 2+ characters.
CREATE OR REPLACE MACRO is_valid_email(e) AS
    regexp_full_match(e,
        '[\p{L}\p{N}!#$%&''*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&''*+/=?^_`{|}~-]+)*'
        || '@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+'
        || '\p{L}(?:[\p{L}\p{N}-]*[\p{L}\p{N}])?');

-- The host of a website or domain cell: scheme, user, port, path, query and a leading www.
-- dropped, lowercased; NULL when what is left is not a dotted host name.
CREATE OR REPLACE MACRO domain_of(v) AS
    nullif(regexp_extract(
        lower(v),
        '^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/?#]*@)?(?:www\d{0,3}\.)?'
        || '((?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+'
        || '\p{L}(?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)\.?(?::\d*)?(?:[/?#].*)?$',
        1), '');

-- LinkedIn URLs in one form (https://www.linkedin.com/in/slug), lowercase: the contact key
-- takes them lowercased anyway, and the same profile should not be stored two ways.
CREATE OR REPLACE MACRO linkedin_url(v) AS
    CASE WHEN regexp_matches(lower(v), '^(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/')
         THEN 'https://www.linkedin.com/' || rtrim(regexp_extract(lower(v),
              '^(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/([^?#]*)', 1), '/')
         ELSE v END;

-- Numbers as written in exports: "1,200", "1.2k", "$3.5M", "2.1B", "51-200", "10,001+",
-- "$1M - $10M", "500 employees". Returns the regex groups; amount_value turns them into
-- whole units. Spaces and currency signs are dropped first.
CREATE OR REPLACE MACRO amount_parts(v) AS
    regexp_extract(
        regexp_replace(lower(v), '[\s$€£¥]|usd|eur|gbp|employees?|people|staff', '', 'g'),
        '^([0-9][0-9,.]*)(k|m|mm|mn|b|bn|t|thousand|million|billion|trillion)?'
        || '(?:(?:-|–|—|to)([0-9][0-9,.]*)(k|m|mm|mn|b|bn|t|thousand|million|billion|trillion)?'
        || '|(\+))?$',
        ['lo', 'lo_unit', 'hi', 'hi_unit', 'plus']);

CREATE OR REPLACE MACRO unit_factor(u) AS
    CASE u WHEN 'k' THEN 1e3 WHEN 'thousand' THEN 1e3
           WHEN 'm' THEN 1e6 WHEN 'mm' THEN 1e6 WHEN 'mn' THEN 1e6 WHEN 'million' THEN 1e6
           WHEN 'b' THEN 1e9 WHEN 'bn' THEN 1e9 WHEN 'billion' THEN 1e9
           WHEN 't' THEN 1e12 WHEN 'trillion' THEN 1e12 ELSE 1 END;

-- "1,200" -> 1200 (comma before three digits groups thousands), "1,5" -> 1.5.
CREATE OR REPLACE MACRO amount_value(n, u) AS
    CASE WHEN n = '' THEN NULL ELSE TRY_CAST(round(
        TRY_CAST(replace(regexp_replace(n, ',([0-9]{3})', '\1', 'g'), ',', '.') AS DOUBLE)
        * unit_factor(u)) AS BIGINT) END;

-- A year such as "1998" (or "1998.0" from a spreadsheet), NULL otherwise.
CREATE OR REPLACE MACRO year_value(v) AS
    CASE WHEN regexp_full_match(v, '[0-9]{4}(?:\.0+)?')
         THEN TRY_CAST(left(v, 4) AS INTEGER) END;

-- ISO-8601 date or time; without an offset it is UTC (the session runs in UTC).
CREATE OR REPLACE MACRO parse_time(v) AS
    CASE WHEN regexp_matches(v, '^[0-9]{4}-[0-9]{2}-[0-9]{2}')
         THEN TRY_CAST(v AS TIMESTAMPTZ) END;

-- A list cell split on ';' or ',', items trimmed and lowercased, empty ones dropped.
CREATE OR REPLACE MACRO split_list(v) AS
    list_filter(
        list_transform(string_split_regex(lower(v), '[;,]'), lambda x: trim(x)),
        lambda x: blank_to_null(x) IS NOT NULL);

-- First occurrence of each item, in order; an empty list is NULL (nothing to merge).
CREATE OR REPLACE MACRO distinct_items(l) AS
    nullif(list_filter(l, lambda x, i: list_position(l, x) = i), []);

-- md5 of the key shaped as a version-3 UUID (RFC 4122 variant), as Python's
-- uuid.UUID(bytes=md5(key).digest(), version=3) does. Takes the md5 hex digest.
CREATE OR REPLACE MACRO uuid_v3_from_md5(h) AS
    substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-3' || substr(h, 14, 3) || '-'
    || substr('89ab89ab89ab89ab', strpos('0123456789abcdef', substr(h, 17, 1)), 1)
    || substr(h, 18, 3) || '-' || substr(h, 21, 12);

CREATE OR REPLACE MACRO record_id(key) AS uuid_v3_from_md5(md5(key));
