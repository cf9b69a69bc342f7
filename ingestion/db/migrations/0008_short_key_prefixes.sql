-- What a key list shows of a key: "sk-rgw-" and 4 of the 43 random characters of a generated
-- key (24 of its 256 bits), and nothing of a key an operator supplied (RAGWAY_ADMIN_KEY): its
-- display_prefix becomes 'supplied'. Releases before this stored the first 13 characters of
-- every key, which left only 7 characters of a 20-character supplied key to guess from its
-- unsalted hash. Supplied keys are told apart by the name start-up gave them, or by not
-- starting with the generated marker; start-up also marks a supplied key it finds.
UPDATE api_keys
SET display_prefix = CASE
    WHEN name = 'admin (env)' OR left(display_prefix, 7) <> 'sk-rgw-' THEN 'supplied'
    ELSE left(display_prefix, 11)
END
WHERE display_prefix <> 'supplied';
