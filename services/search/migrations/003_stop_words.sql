-- Stop words per language (issue 20), left out of queries the way Typesense's stopwords sets
-- are: the index keeps every word (phrases and any reader's language still match them), and a
-- query in a language drops that language's stop words where they stand alone. One dictionary
-- per list PostgreSQL ships (share/tsearch_data/<language>.stop, part of every PostgreSQL
-- install): with ACCEPT = false, ts_lexize answers an empty array for a stop word and NULL for
-- any other, so the store asks it which of a query's words to leave out.
CREATE TEXT SEARCH DICTIONARY search_stop_danish (TEMPLATE = pg_catalog.simple, STOPWORDS = danish, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_dutch (TEMPLATE = pg_catalog.simple, STOPWORDS = dutch, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_english (TEMPLATE = pg_catalog.simple, STOPWORDS = english, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_finnish (TEMPLATE = pg_catalog.simple, STOPWORDS = finnish, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_french (TEMPLATE = pg_catalog.simple, STOPWORDS = french, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_german (TEMPLATE = pg_catalog.simple, STOPWORDS = german, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_hungarian (TEMPLATE = pg_catalog.simple, STOPWORDS = hungarian, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_italian (TEMPLATE = pg_catalog.simple, STOPWORDS = italian, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_nepali (TEMPLATE = pg_catalog.simple, STOPWORDS = nepali, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_norwegian (TEMPLATE = pg_catalog.simple, STOPWORDS = norwegian, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_portuguese (TEMPLATE = pg_catalog.simple, STOPWORDS = portuguese, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_russian (TEMPLATE = pg_catalog.simple, STOPWORDS = russian, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_spanish (TEMPLATE = pg_catalog.simple, STOPWORDS = spanish, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_swedish (TEMPLATE = pg_catalog.simple, STOPWORDS = swedish, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY search_stop_turkish (TEMPLATE = pg_catalog.simple, STOPWORDS = turkish, ACCEPT = false);
