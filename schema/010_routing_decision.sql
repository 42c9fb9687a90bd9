-- The router's decision on each execution (issue 11): the id of the recommendation it followed and
-- the probability with which that recommendation picked this tier (its propensity). Both optional;
-- with them an outcome joins back to its decision, and eval routing can reweight logged outcomes.
ALTER TABLE executions ADD COLUMN recommendation_id VARCHAR;
ALTER TABLE executions ADD COLUMN routing_propensity DOUBLE;
