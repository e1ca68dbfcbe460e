// removed once the metrics registry lands
