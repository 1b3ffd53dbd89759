"""The curation gallery of synthetic pairs (model, filters, jobs, batch augment) and the pair mask editor."""
