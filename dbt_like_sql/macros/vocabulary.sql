-- Field rules that read a seed, each the one definition of its field's values: the value
-- models apply them to a file's distinct cells, and the query side (dbt_like_sql.query_values)
-- to the values of a VQL query, so a query means what a load stored. They take squished,
-- non-blank text (see normalize.sql) and read seed-derived models (the runner creates them
-- once those are built).

-- A country's canonical name: its seed spelling ("USA", "U.S." -> united states), else the
-- text as written, lowercased.
CREATE OR REPLACE MACRO country_name(t) AS
    coalesce((SELECT ca.country FROM {{ ref('country_aliases') }} ca WHERE ca.alias_key = lookup_key(t)),
             lower(t));

-- The canonical seniority a seniority value spells ("Sr." -> senior, "C-Suite" -> c_suite),
-- NULL when the seed has no such spelling (the loader then reads the value's words).
CREATE OR REPLACE MACRO seniority_alias(t) AS
    (SELECT sa.seniority FROM {{ ref('seniority_aliases') }} sa WHERE sa.term = lookup_key(t));

-- Departments as snake_case names ("Human Resources; Sales" -> [human_resources, sales]).
CREATE OR REPLACE MACRO department_items(t) AS
    distinct_items(list_transform(split_list(t), lambda d: replace(d, ' ', '_')));

-- The domain of a host (url_host's result), NULL when the host is no domain.
CREATE OR REPLACE MACRO domain_of(h) AS CASE WHEN is_domain(h) THEN h END;
