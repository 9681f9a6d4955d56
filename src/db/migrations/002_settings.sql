-- Installation-wide settings: e.g. the check value that tells a wrong KIZUNA_SECRET_KEY apart at start.
CREATE TABLE kizuna_settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);
