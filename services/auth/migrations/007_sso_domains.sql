-- Email domains an org proves it owns (issue 22): a DNS TXT record at
-- _techcorp-challenge.<domain> carrying "techcorp-domain-verification=<token>". A verified
-- domain may route its people to one of the org's connections (home-realm discovery:
-- /v1/auth/sso/discover). Any org may claim a domain; only one org may have it verified.
CREATE TABLE sso_domains (
    org_id        text        NOT NULL,
    domain        text        NOT NULL,
    token         text        NOT NULL,
    connection_id text        REFERENCES sso_connections (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    verified_at   timestamptz,
    PRIMARY KEY (org_id, domain)
);
CREATE UNIQUE INDEX sso_domains_verified ON sso_domains (domain) WHERE verified_at IS NOT NULL;
