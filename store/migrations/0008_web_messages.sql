-- The web console's messages, so that a restart shows a channel as it was: the root cards and top-level
-- messages, each thread's replies in order, with their last edit. The console writes a message when it
-- posts it and again, in place, at each edit; private notes are never written.
--
-- seq is the console's order of posting, across its channels, and the rowid: every index ends with it,
-- so an index on (channel) gives a channel's messages in the order they were posted, both ways. The
-- console reads a channel through the two partial indexes, newest first and up to what it keeps in
-- memory (the newest root cards, the newest replies of each), however long the history is. An edit
-- sets version, body and updated_at, none of which an index holds.
CREATE TABLE web_messages (
    seq        INTEGER PRIMARY KEY,
    channel    TEXT    NOT NULL CHECK (channel <> ''),
    message_id TEXT    NOT NULL CHECK (message_id <> ''),
    -- The root card's id for a reply, the card's own id for a root card, '' for a message without a
    -- thread.
    thread_id  TEXT    NOT NULL DEFAULT '',
    root       INTEGER NOT NULL CHECK (root IN (0, 1)),
    version    INTEGER NOT NULL CHECK (version >= 0),
    -- What the message shows, as the console's page reads it.
    body       TEXT    NOT NULL CHECK (json_valid(body)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- The bot edits a message by its id; an id is taken once in a channel.
    UNIQUE (channel, message_id)
) STRICT;

-- The root cards of a channel, newest first.
CREATE INDEX web_messages_roots ON web_messages (channel) WHERE root = 1;
-- The replies of a thread, newest first.
CREATE INDEX web_messages_replies ON web_messages (channel, thread_id) WHERE root = 0;
