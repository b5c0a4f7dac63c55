"""Names of the platform's public ``canfar`` client that built-in plugins and the facade share."""

#: The public client's identity-provider keys, and the auth mode their servers are logged in with.
IDP_AUTH = {"cadc": "x509", "srcnet": "oidc"}
