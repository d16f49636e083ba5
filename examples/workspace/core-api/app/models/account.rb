require "json"

Account = Struct.new(:id, :name, keyword_init: true) do
  SAMPLE = {1 => "Acme Pharmacy", 2 => "Corner Clinic"}.freeze

  def self.find(id)
    name = SAMPLE[id]
    name && new(id: id, name: name)
  end

  def to_json(*args)
    to_h.to_json(*args)
  end
end
