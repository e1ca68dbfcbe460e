// removed once the loader lands
