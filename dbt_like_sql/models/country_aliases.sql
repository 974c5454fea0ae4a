{{ config(materialized='table') }}
-- Country spellings by lookup key ("U.S." and "us" are one key); built once per session.
SELECT lookup_key(alias) AS alias_key, min(country) AS country
FROM {{ ref('countries') }}
GROUP BY ALL
