// removed once the gateway lands
