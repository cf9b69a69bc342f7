-- The W3C traceparent of the span that staged a job (NULL: tracing off), put in the
-- Dramatiq message's options by the relay, so the trace of a request goes on in the
-- worker that does its work.
ALTER TABLE outbox ADD COLUMN traceparent text;
