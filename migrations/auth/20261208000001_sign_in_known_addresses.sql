-- The client addresses each account signed in from: once an account's
-- failed sign-ins from all addresses together pass their cap, only these
-- may still try, so someone guessing from many addresses is stopped while
-- the owner, from an address they used before, is not locked out.
-- Keyed like sign_in_failures, by the lower-cased address typed in.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '10s';
CREATE TABLE sign_in_known_addresses (
    email             text NOT NULL CHECK (email = lower(email)),
    client_address    text NOT NULL CHECK (length(client_address) <= 45),
    last_signed_in_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email, client_address)
);
