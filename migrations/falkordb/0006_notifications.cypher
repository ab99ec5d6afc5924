// Inboxes: a notification is found by its aggregation key (recording), its id, and its
// recipient (the inbox); a push subscription by its ref (an HMAC of its endpoint) and its user.
CREATE INDEX FOR (n:Notification) ON (n.key);
CREATE INDEX FOR (n:Notification) ON (n.id);
CREATE INDEX FOR (n:Notification) ON (n.recipient);
CREATE INDEX FOR (s:PushSubscription) ON (s.ref);
CREATE INDEX FOR (s:PushSubscription) ON (s.user);
GRAPH.CONSTRAINT CREATE UNIQUE NODE Notification PROPERTIES 1 key;
GRAPH.CONSTRAINT CREATE UNIQUE NODE Notification PROPERTIES 1 id;
GRAPH.CONSTRAINT CREATE UNIQUE NODE PushSubscription PROPERTIES 1 ref;
