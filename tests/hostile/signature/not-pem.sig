-----BEGIN SSH SIGNATURE-----
not base64 !!!
-----END SSH SIGNATURE-----
