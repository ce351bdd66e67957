-- Signing in with GitHub (issue 22): OAuth 2.0 without OpenID Connect. A GitHub connection
-- keeps the host (`issuer`: https://github.com or a GitHub Enterprise Server), the OAuth app's
-- client id and sealed secret, its authorization and token endpoints, and the REST API's /user
-- (`userinfo_endpoint`); it has no key set.
ALTER TABLE sso_connections DROP CONSTRAINT sso_connections_type_check;
ALTER TABLE sso_connections ADD CONSTRAINT sso_connections_type_check
    CHECK (type IN ('oidc', 'saml', 'github'));
ALTER TABLE sso_connections DROP CONSTRAINT sso_connections_shape;
ALTER TABLE sso_connections ADD CONSTRAINT sso_connections_shape CHECK (
    (type = 'oidc' AND client_id IS NOT NULL AND client_secret IS NOT NULL
         AND authorization_endpoint IS NOT NULL AND token_endpoint IS NOT NULL
         AND jwks_uri IS NOT NULL)
    OR (type = 'github' AND client_id IS NOT NULL AND client_secret IS NOT NULL
         AND authorization_endpoint IS NOT NULL AND token_endpoint IS NOT NULL
         AND userinfo_endpoint IS NOT NULL)
    OR (type = 'saml' AND saml_idp_metadata IS NOT NULL));
