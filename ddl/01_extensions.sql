-- 01_extensions.sql: the extensions later packs use. Needs 00_schemas.
-- pgcrypto: digest() and pgp_sym_encrypt() (wallet credentials, document hashes);
-- uuid-ossp: uuid_generate_v4() for hosts that still call it (gen_random_uuid() is core since 13).

create extension if not exists pgcrypto with schema public;
create extension if not exists "uuid-ossp" with schema public;
