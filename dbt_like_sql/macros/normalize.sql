-- Scalar rules shared by the models (DESIGN.md section 4). Each macro is one rule, so a
-- golden test can call it directly. They run on every cell of 1M-row files, so each takes
-- the cheap path (plain string functions) when it can and a regex only when it must.
--
-- A macro is expanded in place, and DuckDB does not share repeated subexpressions inside
-- CASE, so a macro that uses its argument twice must be given a column, not another macro:
-- the models compute one step per CTE (squish, then blank_to_null, then the typed value).

-- Trimmed, every run of whitespace (tabs, newlines, no-break and other Unicode spaces) one
-- space. The guard skips the regex for the usual cell that needs nothing.
CREATE OR REPLACE MACRO squish(v) AS
    CASE WHEN regexp_matches(v, '^\s|\s$|\s\s|[\t\n\r\f\x0b\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]')
         THEN trim(regexp_replace(v, '[\s\x0b\x{85}\p{Z}]+', ' ', 'g'))
         ELSE v END;

-- Values that mean "nothing here" are NULL, not errors. Takes squished text.
CREATE OR REPLACE MACRO blank_to_null(v) AS
    CASE WHEN strlen(v) > 13 THEN v
         WHEN lower(v) IN ('', 'n/a', 'na', 'n.a.', 'null', 'nil', 'none', '-', '--', '---',
                           '?', 'nan', '#n/a', 'not available', 'unknown') THEN NULL
         ELSE v END;

-- How free text is looked up in a seed: lowercase, dots dropped, other punctuation as one
-- space ("U.S." -> "us", "C-Suite" -> "c suite", "Sr. Engineer" -> "sr engineer").
CREATE OR REPLACE MACRO lookup_key(v) AS
    trim(regexp_replace(lower(replace(v, '.', '')),
                        '[\s\x{21}-\x{2f}\x{3a}-\x{40}\x{5b}-\x{60}\x{7b}-\x{7e}\x{a0}-\x{bf}'
                        || '\x{2010}-\x{2015}\x{2018}-\x{201f}\x{2022}\x{2026}]+', ' ', 'g'));

-- Lowercased, without a mailto: prefix.
CREATE OR REPLACE MACRO email_text(v) AS
    CASE WHEN starts_with(lower(v), 'mailto:') THEN substr(lower(v), 8) ELSE lower(v) END;

-- A sane address: dot-separated atoms, one @, a dotted host whose last label starts with a
-- letter and has two characters or more. No whitespace, quotes, brackets or commas.
CREATE OR REPLACE MACRO is_valid_email(e) AS
    regexp_full_match(e,
        '[^\s@"(),:;<>\[\]\\.]+(?:\.[^\s@"(),:;<>\[\]\\.]+)*'
        || '@(?:[^\s@"(),:;<>\[\]\\./]+\.)+(?:[a-z]|[^\x00-\x7f])[^\s@"(),:;<>\[\]\\./]+');

-- The host of a website or domain cell (lowercased): scheme, user, port, path, query,
-- fragment, a leading www. and a trailing dot dropped. (One regex: DuckDB's split_part
-- repeats its argument, so nesting it grows the expression exponentially.)
CREATE OR REPLACE MACRO url_host(v) AS
    rtrim(regexp_extract(v,
        '^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/?#]*@)?(?:www[0-9]*\.)?([^/?#:]*)', 1), '.');

-- A host that is a domain: dotted labels, the last one starting with a letter. (Letters
-- are ASCII ones or any non-ASCII character: RE2 compiles \p{L} slowly, on every query.)
CREATE OR REPLACE MACRO is_domain(h) AS
    regexp_full_match(h, '(?:[^\s.@/:?#]+\.)+(?:[a-z]|[^\x00-\x7f])[^\s.@/:?#]*');

-- A URL path without its query or fragment.
CREATE OR REPLACE MACRO url_path(p) AS
    CASE WHEN contains(p, '?') OR contains(p, '#') THEN regexp_extract(p, '^[^?#]*') ELSE p END;

-- LinkedIn URLs in one form, https://www.linkedin.com/<path> lowercased: the contact key
-- takes them lowercased anyway, and one profile should not be stored two ways.
CREATE OR REPLACE MACRO linkedin_url(v) AS
    CASE WHEN strpos(lower(v), 'linkedin.com/') > 0
         THEN 'https://www.linkedin.com/' || rtrim(url_path(
              substr(lower(v), strpos(lower(v), 'linkedin.com/') + 13)), '/')
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

-- "1,200" -> 1200 (a comma before three digits groups thousands), "1,5" -> 1.5.
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

-- A list cell (squished already) split on ';' or ',', items trimmed and lowercased, empty
-- and placeholder items dropped.
CREATE OR REPLACE MACRO split_list(v) AS
    list_filter(
        list_transform(string_split(replace(lower(v), ';', ','), ','), lambda x: trim(x)),
        lambda x: blank_to_null(x) IS NOT NULL);

-- First occurrence of each item, in order; an empty list is NULL (nothing to merge).
CREATE OR REPLACE MACRO distinct_items(l) AS
    nullif(list_filter(l, lambda x, i: list_position(l, x) = i), []);

-- md5 of the key shaped as a version-3 UUID (RFC 4122 variant), as Python's
-- uuid.UUID(bytes=md5(key).digest(), version=3) does. Takes the md5 hex digest; NULL in,
-- NULL out.
CREATE OR REPLACE MACRO uuid_v3_from_md5(h) AS
    CASE WHEN h IS NOT NULL THEN concat(
        substr(h, 1, 8), '-', substr(h, 9, 4), '-3', substr(h, 14, 3), '-',
        substr('89ab89ab89ab89ab', strpos('0123456789abcdef', substr(h, 17, 1)), 1),
        substr(h, 18, 3), '-', substr(h, 21, 12)) END;

-- The id of a key in one call (md5 is then computed once per use of h: for tests and small
-- tables; the models compute md5 in one CTE and shape it in the next).
CREATE OR REPLACE MACRO record_id(key) AS uuid_v3_from_md5(md5(key));
