# Rack entry point.
require_relative "config/routes"

run CoreApi::Routes.app
