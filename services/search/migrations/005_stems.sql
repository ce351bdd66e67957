-- Stemming by the document's language (issue 20): "running" is found by "run" and "runs".
-- A document whose locale names a language with a Snowball stemmer gets a second set of words
-- in its postings, the stems (stv, with the same A/B/C weights as tsv), and the name of the
-- configuration they were made with (stem). A query in that language (its lang, or its
-- Accept-Language) matches the stems of documents of the same language besides the words as
-- written; any other document, and any query without a language, matches words as written
-- only: the simple fallback. The vocabulary (typo candidates) stays the written words'.
--
-- One stemming dictionary per Snowball language PostgreSQL ships, without the stock stop
-- list (stop words are left out of queries only, migration 003), after unaccent as in
-- search_simple. The language codes that pick them live in the model (search_model.c).
CREATE TEXT SEARCH DICTIONARY search_stem_arabic (TEMPLATE = pg_catalog.snowball, LANGUAGE = arabic);
CREATE TEXT SEARCH DICTIONARY search_stem_armenian (TEMPLATE = pg_catalog.snowball, LANGUAGE = armenian);
CREATE TEXT SEARCH DICTIONARY search_stem_basque (TEMPLATE = pg_catalog.snowball, LANGUAGE = basque);
CREATE TEXT SEARCH DICTIONARY search_stem_catalan (TEMPLATE = pg_catalog.snowball, LANGUAGE = catalan);
CREATE TEXT SEARCH DICTIONARY search_stem_danish (TEMPLATE = pg_catalog.snowball, LANGUAGE = danish);
CREATE TEXT SEARCH DICTIONARY search_stem_dutch (TEMPLATE = pg_catalog.snowball, LANGUAGE = dutch);
CREATE TEXT SEARCH DICTIONARY search_stem_english (TEMPLATE = pg_catalog.snowball, LANGUAGE = english);
CREATE TEXT SEARCH DICTIONARY search_stem_finnish (TEMPLATE = pg_catalog.snowball, LANGUAGE = finnish);
CREATE TEXT SEARCH DICTIONARY search_stem_french (TEMPLATE = pg_catalog.snowball, LANGUAGE = french);
CREATE TEXT SEARCH DICTIONARY search_stem_german (TEMPLATE = pg_catalog.snowball, LANGUAGE = german);
CREATE TEXT SEARCH DICTIONARY search_stem_greek (TEMPLATE = pg_catalog.snowball, LANGUAGE = greek);
CREATE TEXT SEARCH DICTIONARY search_stem_hindi (TEMPLATE = pg_catalog.snowball, LANGUAGE = hindi);
CREATE TEXT SEARCH DICTIONARY search_stem_hungarian (TEMPLATE = pg_catalog.snowball, LANGUAGE = hungarian);
CREATE TEXT SEARCH DICTIONARY search_stem_indonesian (TEMPLATE = pg_catalog.snowball, LANGUAGE = indonesian);
CREATE TEXT SEARCH DICTIONARY search_stem_irish (TEMPLATE = pg_catalog.snowball, LANGUAGE = irish);
CREATE TEXT SEARCH DICTIONARY search_stem_italian (TEMPLATE = pg_catalog.snowball, LANGUAGE = italian);
CREATE TEXT SEARCH DICTIONARY search_stem_lithuanian (TEMPLATE = pg_catalog.snowball, LANGUAGE = lithuanian);
CREATE TEXT SEARCH DICTIONARY search_stem_nepali (TEMPLATE = pg_catalog.snowball, LANGUAGE = nepali);
CREATE TEXT SEARCH DICTIONARY search_stem_norwegian (TEMPLATE = pg_catalog.snowball, LANGUAGE = norwegian);
CREATE TEXT SEARCH DICTIONARY search_stem_portuguese (TEMPLATE = pg_catalog.snowball, LANGUAGE = portuguese);
CREATE TEXT SEARCH DICTIONARY search_stem_romanian (TEMPLATE = pg_catalog.snowball, LANGUAGE = romanian);
CREATE TEXT SEARCH DICTIONARY search_stem_russian (TEMPLATE = pg_catalog.snowball, LANGUAGE = russian);
CREATE TEXT SEARCH DICTIONARY search_stem_serbian (TEMPLATE = pg_catalog.snowball, LANGUAGE = serbian);
CREATE TEXT SEARCH DICTIONARY search_stem_spanish (TEMPLATE = pg_catalog.snowball, LANGUAGE = spanish);
CREATE TEXT SEARCH DICTIONARY search_stem_swedish (TEMPLATE = pg_catalog.snowball, LANGUAGE = swedish);
CREATE TEXT SEARCH DICTIONARY search_stem_tamil (TEMPLATE = pg_catalog.snowball, LANGUAGE = tamil);
CREATE TEXT SEARCH DICTIONARY search_stem_turkish (TEMPLATE = pg_catalog.snowball, LANGUAGE = turkish);
CREATE TEXT SEARCH DICTIONARY search_stem_yiddish (TEMPLATE = pg_catalog.snowball, LANGUAGE = yiddish);

CREATE TEXT SEARCH CONFIGURATION search_arabic (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_arabic ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_arabic;
CREATE TEXT SEARCH CONFIGURATION search_armenian (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_armenian ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_armenian;
CREATE TEXT SEARCH CONFIGURATION search_basque (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_basque ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_basque;
CREATE TEXT SEARCH CONFIGURATION search_catalan (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_catalan ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_catalan;
CREATE TEXT SEARCH CONFIGURATION search_danish (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_danish ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_danish;
CREATE TEXT SEARCH CONFIGURATION search_dutch (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_dutch ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_dutch;
CREATE TEXT SEARCH CONFIGURATION search_english (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_english ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_english;
CREATE TEXT SEARCH CONFIGURATION search_finnish (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_finnish ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_finnish;
CREATE TEXT SEARCH CONFIGURATION search_french (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_french ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_french;
CREATE TEXT SEARCH CONFIGURATION search_german (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_german ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_german;
CREATE TEXT SEARCH CONFIGURATION search_greek (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_greek ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_greek;
CREATE TEXT SEARCH CONFIGURATION search_hindi (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_hindi ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_hindi;
CREATE TEXT SEARCH CONFIGURATION search_hungarian (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_hungarian ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_hungarian;
CREATE TEXT SEARCH CONFIGURATION search_indonesian (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_indonesian ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_indonesian;
CREATE TEXT SEARCH CONFIGURATION search_irish (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_irish ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_irish;
CREATE TEXT SEARCH CONFIGURATION search_italian (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_italian ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_italian;
CREATE TEXT SEARCH CONFIGURATION search_lithuanian (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_lithuanian ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_lithuanian;
CREATE TEXT SEARCH CONFIGURATION search_nepali (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_nepali ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_nepali;
CREATE TEXT SEARCH CONFIGURATION search_norwegian (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_norwegian ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_norwegian;
CREATE TEXT SEARCH CONFIGURATION search_portuguese (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_portuguese ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_portuguese;
CREATE TEXT SEARCH CONFIGURATION search_romanian (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_romanian ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_romanian;
CREATE TEXT SEARCH CONFIGURATION search_russian (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_russian ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_russian;
CREATE TEXT SEARCH CONFIGURATION search_serbian (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_serbian ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_serbian;
CREATE TEXT SEARCH CONFIGURATION search_spanish (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_spanish ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_spanish;
CREATE TEXT SEARCH CONFIGURATION search_swedish (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_swedish ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_swedish;
CREATE TEXT SEARCH CONFIGURATION search_tamil (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_tamil ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_tamil;
CREATE TEXT SEARCH CONFIGURATION search_turkish (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_turkish ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_turkish;
CREATE TEXT SEARCH CONFIGURATION search_yiddish (COPY = search_simple);
ALTER TEXT SEARCH CONFIGURATION search_yiddish ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, search_stem_yiddish;

-- The mapping a postings row was made with: 1 before this migration (no stems), 2 with them.
-- The rows that exist when it runs keep 1 (a constant default is not written into each row,
-- so the ALTER is instant) and are brought to 2 in small batches by the remap job while the
-- service serves (store_remap_batch): a mapping change without a rebuild that stops reads or
-- writes. New rows are written with 2. The configuration is named by text, not regconfig,
-- which pg_upgrade refuses in user tables.
ALTER TABLE search_postings ADD COLUMN mapping smallint NOT NULL DEFAULT 1;
ALTER TABLE search_postings ALTER COLUMN mapping SET DEFAULT 2;
ALTER TABLE search_postings ADD COLUMN stem text;
ALTER TABLE search_postings ADD COLUMN stv tsvector;

-- Built over the rows that exist in one pass each: the first indexes none of them (every stv
-- is NULL), the second every one (a btree of keys), so neither holds writes back for long.
CREATE INDEX search_postings_org_stv ON search_postings USING gin (org_id, stv) WHERE stv IS NOT NULL;
CREATE INDEX search_postings_remap ON search_postings (org_id, type, id) WHERE mapping < 2;
