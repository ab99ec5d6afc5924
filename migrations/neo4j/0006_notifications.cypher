// Inboxes: a notification is found by its aggregation key (recording), its id, and its
// recipient (the inbox); a push subscription by its ref (an HMAC of its endpoint) and its user.
CREATE CONSTRAINT notification_key IF NOT EXISTS FOR (n:Notification) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT notification_id IF NOT EXISTS FOR (n:Notification) REQUIRE n.id IS UNIQUE;
CREATE INDEX notification_recipient IF NOT EXISTS FOR (n:Notification) ON (n.recipient);
CREATE CONSTRAINT push_ref IF NOT EXISTS FOR (s:PushSubscription) REQUIRE s.ref IS UNIQUE;
CREATE INDEX push_user IF NOT EXISTS FOR (s:PushSubscription) ON (s.user);
