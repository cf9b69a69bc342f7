"""``/v1/messages``: Anthropic's Messages API over any upstream, through the chat pipeline."""
