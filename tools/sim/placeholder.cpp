// removed once the simulator core lands
