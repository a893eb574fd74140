"""Tools for adapter authors: `adapter check` puts an adapter through the agent contract."""
