puts "core-api"
