"""Link preview cards: safe page fetching, OpenGraph/oEmbed reading, and attaching cards to statuses."""
